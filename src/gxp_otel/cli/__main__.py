from gxp_otel.cli import main

main()
