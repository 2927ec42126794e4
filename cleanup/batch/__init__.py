"""Fleet work: select the Macs flagged as broken, run a playbook over them within the services' limits."""
