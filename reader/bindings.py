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

# The keys of the article widget (reader.widgets.annotated_article): the cursor and the
# selection.  None is in the footer, so that the screen's keys come first there.
ARTICLE_BINDINGS: list[Binding] = [
    _bind("left", "move(-1)", "Token left", "Move the cursor one token left", "cursor-left",
          False),
    _bind("right", "move(1)", "Token right", "Move the cursor one token right", "cursor-right",
          False),
    _bind("up", "move_line(-1)", "Line up", "Move the cursor one line up", "cursor-up", False),
    _bind("down", "move_line(1)", "Line down", "Move the cursor one line down", "cursor-down",
          False),
    _bind("pageup", "move_page(-1)", "Page up", "Scroll one page up", "page-up", False),
    _bind("pagedown", "move_page(1)", "Page down", "Scroll one page down", "page-down", False),
    _bind("home,ctrl+home", "move_edge(-1)", "Start", "Go to the start of the article",
          "article-start", False),
    _bind("end,ctrl+end", "move_edge(1)", "End", "Go to the end of the article", "article-end",
          False),
    _bind("shift+right", "edge('end', 1)", "End +1", "Grow the selection's end by a token "
          "(on an entity: select it first)", "select-right", False),
    _bind("shift+left", "edge('end', -1)", "End -1", "Shrink the selection's end by a token "
          "(never past its start)", "select-left", False),
    _bind("alt+left,less_than_sign", "edge('start', -1)", "Start -1", "Grow the selection's "
          "start by a token to the left", "select-start-left", False),
    _bind("alt+right,greater_than_sign", "edge('start', 1)", "Start +1", "Shrink the "
          "selection's start by a token (never past its end)", "select-start-right", False),
    _bind("tab", "next_entity(1)", "Next ent", "Select the next entity", "next-entity", False),
    _bind("shift+tab", "next_entity(-1)", "Prev ent", "Select the previous entity",
          "previous-entity", False),
    _bind("f", "cycle_spans", "Cycle", "Nested spans: the next at the cursor (inner first)",
          "cycle-spans", False),
    _bind("m", "toggle_edges", "Edges", "Show or hide ⟦…⟧ at span edges", "span-edges", False),
]

# The keys of the annotate screen, in the order help lists them (the footer's order is
# ANNOTATE_FOOTER below).
ANNOTATE_SCREEN_BINDINGS: list[Binding] = [
    _bind("question_mark,f1", "help", "Help", "Show every key (Escape closes)", "help"),
    _bind("q", "app.quit", "Quit", "Quit (every edit is already saved)", "quit"),
    *LABEL_BINDINGS,
    _bind("l", "label_picker", "Label…", "Choose any label by name, or add a new one",
          "label-picker"),
    _bind("d,delete", "delete_entity", "Delete", "Delete the entity under the cursor and its "
          "relations", "delete-entity"),
    _bind("c", "confirm_entity", "Confirm", "Confirm the suggestion, go to the next unreviewed "
          "one", "confirm-entity"),
    _bind("C", "confirm_label", "Confirm label", "Confirm every unreviewed suggestion of this "
          "label", "confirm-label", False),
    _bind("equals_sign", "repeat_relabel", "Same relabel", "The last relabel again, on the same "
          "text's suggestions", "repeat-relabel", False),
    _bind("o", "occurrences", "Occurrences", "Other occurrences of the text, to confirm or "
          "delete", "label-occurrences",
          False),
    _bind("r", "relation_start", "Relation", "Start a relation from the entity under the cursor",
          "relation-start"),
    _bind("enter", "relation_child", "Link", "Use the entity under the cursor as the child",
          "relation-child", False),
    _bind("escape", "cancel", "Cancel", "Cancel the relation or clear the selection", "cancel",
          False),
    _bind("e", "relations_panel", "Relations", "Focus the relation list (d, v, l; Escape goes "
          "back)", "relations-panel", False),
    _bind("b", "toggle_panel", "Panel", "Show or hide the side panel", "toggle-panel", False),
    _bind("u,ctrl+z", "undo", "Undo", "Undo the last edit (any document)", "undo"),
    _bind("ctrl+y", "redo", "Redo", "Redo the last undone edit", "redo", False),
    _bind("a", "set_status('accept')", "Accept", "Accept the document as gold, go to the next "
          "open one", "accept-document"),
    _bind("x", "set_status('reject')", "Reject", "Reject the document and go on",
          "reject-document", False),
    _bind("i", "set_status('ignore')", "Ignore", "Ignore the document and go on",
          "ignore-document", False),
    _bind("n", "next_document(1)", "Next doc", "Go to the next document", "next-document"),
    _bind("p", "next_document(-1)", "Prev doc", "Go to the previous document",
          "previous-document", False),
    _bind("g", "goto_document", "Go to", "Jump to a document from a list", "goto-document",
          False),
    _bind("N", "edit_notes", "Notes", "Notes on this document (exported in its meta)",
          "document-notes", False),
    _bind("slash", "find", "Find", "Find text in the article", "find"),
    _bind("f3", "find_next", "Find next", "Find the next match of the last search",
          "find-next", False),
]

# Every key of the annotator, in the order help lists them.
ANNOTATE_BINDINGS: list[Binding] = [*ANNOTATE_SCREEN_BINDINGS[:2], *ARTICLE_BINDINGS,
                                    *ANNOTATE_SCREEN_BINDINGS[2:]]

REVIEW_BINDINGS: list[Binding] = [
    _bind("n,tab", "next_disagreement(1)", "Next", "Go to the next disagreement (then the next "
          "document)", "review-next"),
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

ADJUDICATE_BINDINGS: list[Binding] = [
    _bind("question_mark,f1", "help", "Help", "Show every key (Escape closes)",
          "adjudicate-help"),
    _bind("q", "app.quit", "Quit", "Quit (every choice is already saved)", "adjudicate-quit"),
    _bind("n,tab", "next_item(1)", "Next", "Go to the next disagreement", "adjudicate-next"),
    _bind("p,shift+tab", "next_item(-1)", "Prev", "Go to the previous disagreement",
          "adjudicate-previous"),
    *[_bind(str(n), f"take({n})", f"Take {n}", f"Take annotator {n}'s version of this "
            "span region or relation into the gold", f"adjudicate-take-{n}", show=False)
      for n in range(1, 10)],
    _bind("x", "reject", "Reject", "Take nobody's version: no span here, or no relation",
          "adjudicate-reject"),
    _bind("u,ctrl+z", "undo", "Undo", "Undo the last choice", "adjudicate-undo"),
    _bind("ctrl+y", "redo", "Redo", "Redo the last undone choice", "adjudicate-redo", False),
    _bind("a", "set_status('accept')", "Accept", "Accept as gold and go on (once all are settled)",
          "adjudicate-accept"),
    _bind("right_square_bracket,pagedown", "next_document(1)", "Next doc",
          "Go to the next document", "adjudicate-next-document", False),
    _bind("left_square_bracket,pageup", "next_document(-1)", "Prev doc",
          "Go to the previous document", "adjudicate-previous-document", False),
]

# The footer's keys in priority order, by binding id: as many as fit whole are shown
# (at 80 columns the annotator's first eight), the rest are in help.
ANNOTATE_FOOTER = ("help", "quit", "confirm-entity", "accept-document", "label-picker",
                   "relation-start", "undo", "find", "delete-entity", "next-document",
                   "repeat-relabel", "label-occurrences", "relations-panel", "toggle-panel",
                   "cycle-spans", "span-edges", "document-notes", "previous-document", "redo")
REVIEW_FOOTER = ("review-help", "review-quit", "review-next", "review-take", "review-keep",
                 "review-remove", "review-undo", "review-previous", "review-next-document",
                 "review-previous-document", "review-redo")
ADJUDICATE_FOOTER = ("adjudicate-help", "adjudicate-quit", "adjudicate-next",
                     "adjudicate-take-1", "adjudicate-take-2", "adjudicate-reject",
                     "adjudicate-accept", "adjudicate-undo", "adjudicate-previous",
                     "adjudicate-next-document", "adjudicate-previous-document",
                     "adjudicate-redo")
