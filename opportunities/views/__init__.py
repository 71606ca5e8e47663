"""HTML views of the opportunities app, split by page: the board, the opportunity page and its
actions, accounts, and the public ESAT survey."""
