//! A `when=` expression: parsed within a runbook, then evaluated.
#![no_main]

use cairn_lang::Block;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(expr) = std::str::from_utf8(data) else {
        return;
    };
    let text = format!(
        "runbook f version=1 {{\n    step s uses=exec when={} {{ run \"true\"; }}\n}}\n",
        cairn_fuzz::kdl_string(expr)
    );
    if let Some(rb) = cairn_fuzz::load(&text)
        && let Some(Block::Step(step)) = rb.steps.first()
        && let Some(when) = &step.when
    {
        let _ = cairn_lang::eval_when(&when.value, &cairn_fuzz::Anything);
        let _ = when.value.to_string();
    }
});
