"""Exception rules (docs/architecture.md §9.1): TOML rules with a small, parsed (never `eval`-ed) condition language.

    lexer → parser (nodes) → types (static check) → evaluate (closures)   one condition
    loader: a TOML rule file → RuleSet; book: the rules in force (defaults + server override)
    context: per-order contexts from the store in batches; engine: hits → exception cases

Public API: `RuleBook`, `load_book`, `install_override`, `accept_served`, `ruleset_listeners`,
`parse_rules`, `compile_condition`, `run_rules`, `blocking_rules`, `order_ids_for_waybills`, and the errors.
Patterns after `matches` run on RE2 (`patterns`): linear time whatever the rule or the text.
"""

from app.rules.book import RuleBook, RulesUpdate, accept_served, install_override, load_book, ruleset_listeners
from app.rules.engine import ALL, blocking_rules, evaluate, order_ids_for_waybills, run_rules
from app.rules.errors import RuleFileError, RuleSyntaxError, RuleTypeError
from app.rules.evaluate import compile_condition
from app.rules.loader import TRIGGERS, Rule, RuleSet, parse_rules

__all__ = [
    "ALL", "TRIGGERS", "Rule", "RuleBook", "RuleFileError", "RuleSet", "RuleSyntaxError", "RuleTypeError",
    "RulesUpdate", "accept_served", "blocking_rules", "compile_condition", "evaluate", "install_override",
    "load_book", "order_ids_for_waybills", "parse_rules", "ruleset_listeners", "run_rules",
]
