"""The ERP: its pull API (`client`), the sync into contracts (`sync`), and a stand-in for
tests and benchmarks (`standin`). The push comes in through `webhooks.erp`."""
