"""Stand-ins of the outside systems, test and demo tools outside the product: the Zammad
stand-in (`zammad/`), the ERP stand-in (`erp.py`) and what they share (`loopback.py`); the rig
(`rig.py`: the Zammad stand-in wired to the adapter) and the scenario of `entitlements demo`
(`demo.py`). The stand-ins import nothing of the product; the rig and the demo do."""
