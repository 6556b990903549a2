"""Pure billing rules: money, prices, markup, budgets. No I/O."""
