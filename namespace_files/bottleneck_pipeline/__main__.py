"""``python -m bottleneck_pipeline ...``: what Kestra tasks run (no install needed there)."""

from .cli import main

raise SystemExit(main())
