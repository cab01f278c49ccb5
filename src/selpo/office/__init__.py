"""The office workstation: acceptance, shelving, issue, returns and the day, for the clerk."""
