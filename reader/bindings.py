"""Every key binding of the screens, with its id (the keymap names it) and tooltip.

One module, so that the screens, the help screen and the command palette read the
same lists without importing each other.
"""

from __future__ import annotations

from textual.binding import Binding


def _bind(key: str, action: str, description: str, tooltip: str, binding_id: str,
          show: bool = True) -> Binding:
    return Binding(key, action, description, show=show, tooltip=tooltip, id=binding_id)



LABEL_BINDINGS = [
    _bind(key, f"label_key('{key}')", f"Label {key}",
          f"Give the selection (or the entity under the cursor) the label with key {key}",
          f"label-{key}", show=False)
    for key in "1234567890"
]

ANNOTATE_BINDINGS: list[Binding] = [
    _bind("left", "move(-1)", "Token left", "Move the cursor one token left", "cursor-left",
          False),
    _bind("right", "move(1)", "Token right", "Move the cursor one token right", "cursor-right",
          False),
    _bind("up", "move_line(-1)", "Line up", "Move the cursor one line up", "cursor-up", False),
    _bind("down", "move_line(1)", "Line down", "Move the cursor one line down", "cursor-down",
          False),
    _bind("pageup", "move_page(-1)", "Page up", "Move the cursor one page up", "page-up", False),
    _bind("pagedown", "move_page(1)", "Page down", "Move the cursor one page down", "page-down",
          False),
    _bind("home,ctrl+home", "move_edge(-1)", "Start", "Go to the start of the article",
          "article-start", False),
    _bind("end,ctrl+end", "move_edge(1)", "End", "Go to the end of the article", "article-end",
          False),
    _bind("shift+right", "extend(1)", "Extend", "Extend the selection by one token",
          "select-right", False),
    _bind("shift+left", "extend(-1)", "Shrink", "Shrink the selection by one token (or extend "
          "it left)", "select-left", False),
    _bind("tab", "next_entity(1)", "Next ent", "Select the next entity", "next-entity"),
    _bind("shift+tab", "next_entity(-1)", "Prev ent", "Select the previous entity",
          "previous-entity", False),
    *LABEL_BINDINGS,
    _bind("l", "label_picker", "Label…", "Choose any label by name, or add a new one",
          "label-picker"),
    _bind("d,delete", "delete_entity", "Delete", "Delete the entity under the cursor",
          "delete-entity"),
    _bind("c", "confirm_entity", "Confirm", "Accept the suggestion under the cursor as is",
          "confirm-entity"),
    _bind("r", "relation_start", "Relation", "Start a relation from the entity under the cursor",
          "relation-start"),
    _bind("enter", "relation_child", "Link", "Use the entity under the cursor as the child",
          "relation-child", False),
    _bind("escape", "cancel", "Cancel", "Cancel the relation or clear the selection", "cancel",
          False),
    _bind("e", "relations_panel", "Relations", "Focus the relation list (Delete, v reverses)",
          "relations-panel", False),
    _bind("u,ctrl+z", "undo", "Undo", "Undo the last edit (any document)", "undo"),
    _bind("ctrl+y", "redo", "Redo", "Redo the last undone edit", "redo", False),
    _bind("a", "set_status('accept')", "Accept", "Accept the document as gold and go to the "
          "next open one", "accept-document"),
    _bind("x", "set_status('reject')", "Reject", "Reject the document and go on",
          "reject-document", False),
    _bind("i", "set_status('ignore')", "Ignore", "Ignore the document and go on",
          "ignore-document", False),
    _bind("n", "next_document(1)", "Next doc", "Go to the next document", "next-document"),
    _bind("p", "next_document(-1)", "Prev doc", "Go to the previous document",
          "previous-document", False),
    _bind("g", "goto_document", "Go to", "Jump to a document from a list", "goto-document",
          False),
    _bind("slash", "find", "Find", "Find text in the article", "find"),
    _bind("f3", "find_next", "Find next", "Find the next match of the last search",
          "find-next", False),
    _bind("question_mark,f1", "help", "Help", "Show every key", "help"),
    _bind("q", "app.quit", "Quit", "Quit (every edit is already saved)", "quit"),
]

REVIEW_BINDINGS: list[Binding] = [
    _bind("n,tab", "next_disagreement(1)", "Next", "Go to the next disagreement (on to the "
          "next document at the end)", "review-next"),
    _bind("p,shift+tab", "next_disagreement(-1)", "Prev", "Go to the previous disagreement",
          "review-previous"),
    _bind("t", "take_prediction", "Take pred", "Make the gold here what the extractor "
          "predicted", "review-take"),
    _bind("k", "keep_gold", "Keep gold", "Keep (and confirm) the gold here and go on",
          "review-keep"),
    _bind("d,delete", "remove_span", "Remove", "Remove the gold span(s) here", "review-remove"),
    _bind("u,ctrl+z", "undo", "Undo", "Undo the last review edit", "review-undo"),
    _bind("ctrl+y", "redo", "Redo", "Redo the last undone edit", "review-redo"),
    _bind("right_square_bracket,pagedown", "next_document(1)", "Next doc",
          "Go to the next document (lower F1 first)", "review-next-document", False),
    _bind("left_square_bracket,pageup", "next_document(-1)", "Prev doc",
          "Go to the previous document", "review-previous-document", False),
    _bind("question_mark,f1", "help", "Help", "Show every key", "review-help"),
    _bind("q", "app.quit", "Quit", "Quit (every edit is already saved)", "review-quit"),
]
