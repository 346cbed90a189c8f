"""The ERP: its pull API (`client`), the pull into contracts (`pull`), the billing push
(`billing`), its settings and its provider. The licence push comes in through `webhooks/erp.py`."""
