"""`python -m coffee_maker` is the same as the `coffee-maker` console script."""

from coffee_maker.cli import main

raise SystemExit(main())
