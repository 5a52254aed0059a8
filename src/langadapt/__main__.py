from langadapt.cli.main import main

raise SystemExit(main())
