"""Unit tests of the `greeter-py` plugin against the SDK's mock host:
`cairn plugin test greeter-py` (or `python3 -m unittest` here)."""

import unittest

from app import plugin
from cairn_sdk import Completed, MockHost, PluginError


class HelloTest(unittest.TestCase):
    def test_hello_echoes_the_greeting(self):
        host = MockHost().exec_returns(Completed(stdout=b"hello, ops\n"))
        out = host.invoke(plugin, "hello", {"who": "ops"})
        self.assertEqual(out["greeting"], "hello, ops")
        self.assertEqual(host.commands[0]["program"], "echo")
        self.assertEqual(host.commands[0]["args"], ["hello, ops"])

    def test_a_dry_run_plans_the_echo(self):
        out = MockHost(dry_run=True).invoke(plugin, "hello", {"who": "ops"})
        self.assertTrue(out["planned"])

    def test_a_typo_names_the_argument(self):
        with self.assertRaises(PluginError) as e:
            MockHost().invoke(plugin, "hello", {"woh": "ops"})
        self.assertIn("did you mean `who`", e.exception.message)


if __name__ == "__main__":
    unittest.main()
