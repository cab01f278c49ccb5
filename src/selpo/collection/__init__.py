"""Collection for partners: recyclers and charities take residents' bags through the offices."""
