from scanbot.cli import main

raise SystemExit(main())
