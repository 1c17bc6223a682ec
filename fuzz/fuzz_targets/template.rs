//! A string with `{{ }}` references: parsed within a step's arguments, then
//! rendered.
#![no_main]

use cairn_lang::Block;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = std::str::from_utf8(data) else {
        return;
    };
    let text = format!(
        "runbook f version=1 {{\n    param p default={0}\n    step s uses=exec {{ run \"echo\" {0}; }}\n}}\n",
        cairn_fuzz::kdl_string(value)
    );
    if let Some(rb) = cairn_fuzz::load(&text)
        && let Some(Block::Step(step)) = rb.steps.first()
    {
        let _ = cairn_lang::render_args(&step.args, &cairn_fuzz::Anything);
        for t in step.args.templates() {
            let _ = t.value.to_string();
        }
    }
});
