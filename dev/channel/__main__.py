"""``python -m dev.channel``: see :mod:`dev.channel.runner`."""

import sys

from dev.channel.runner import main

sys.exit(main())
