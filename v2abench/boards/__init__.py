"""Versioned leaderboards: pure functions of their result JSONs, frozen once published."""

from v2abench.boards.board import Board, BoardError, BoardImmutableError, ProtocolMismatchError, open_board

__all__ = ["Board", "BoardError", "BoardImmutableError", "ProtocolMismatchError", "open_board"]
