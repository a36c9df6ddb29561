"""The apps: build the editing session, load the model, apply the keymap.

:func:`make_app` builds the annotator (the CLI and the tests both use it);
:class:`ReviewApp` is the review of one extractor against the gold.  Both hold an
:class:`~annotations.session.EditingSession`, the only thing that edits the store;
building an app writes nothing.
"""

from __future__ import annotations

import gc
import threading
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from textual import work
from textual.app import App, ScreenStackError
from textual.message import Message
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.worker import get_current_worker

from annotations.adjudication import Adjudication
from annotations.errors import AnnotationsError
from annotations.extractors import load_extractor
from annotations.models import Prediction
from annotations.review import review_documents
from annotations.session import EditingSession
from annotations.store import DEFAULT_ANNOTATOR, GoldStore

from .config import AnnotatorConfig
from .messages import DocumentsPredicted, ModelReady, ModelStatus
from .palette import AnnotatorCommands
from .screens.adjudicate import AdjudicateScreen
from .screens.annotate import AnnotateScreen
from .screens.review import ReviewScreen
from .screens.status_line import Notice, StatusLine

if TYPE_CHECKING:
    from annotations.queue import Queue

PREDICT_BATCH = 16


class Extractor(Protocol):
    """What the app needs of an extractor (``SpacyExtractor`` has it)."""

    @property
    def id(self) -> str: ...

    @property
    def labels(self) -> list[str]: ...

    def predict(self, items: Any, batch_size: int = ...) -> Any: ...


class ReaderApp(App[None]):
    """What both apps share: the store, the config's keymap and the session."""

    # Toasts (warnings and errors, see notify) stand above the status line and the footer,
    # never over them: the status line says what is selected and what the last key did.
    CSS = "ToastRack { margin-bottom: 2; }"
    # How many notices :attr:`notices` keeps.
    NOTICES_KEPT = 200

    def __init__(self, store: GoldStore, session: EditingSession,
                 config: AnnotatorConfig | None = None) -> None:
        super().__init__()
        self.store = store
        self.config = config or AnnotatorConfig()
        self.session = session
        self.keymap: dict[str, str] = {}
        # Every notice said, latest last (what tests and the drift machine read).
        self.notices: deque[Notice] = deque(maxlen=self.NOTICES_KEPT)

    def notify(self, message: str, *, title: str = "",
               severity: SeverityLevel = "information", timeout: float | None = None,
               markup: bool = True) -> None:
        """Say something: an information notice goes to the status line of the screen
        shown (one row redrawn; a toast per key costs a layout of the screen), warnings
        and errors, and notices over a screen without a status line, come as toasts.
        Every notice is kept in :attr:`notices`."""
        on_loop = threading.get_ident() == threading.main_thread().ident
        if on_loop:
            self.notices.append(Notice(message, severity))
            try:
                line = getattr(self.screen, "status_line", None)
            except ScreenStackError:  # no screen yet, or no longer
                line = None
            if severity == "information" and isinstance(line, StatusLine):
                line.show_notice(message, severity,
                                 self.NOTIFICATION_TIMEOUT if timeout is None else timeout)
                return
        super().notify(message, title=title, severity=severity, timeout=timeout,
                       markup=markup)

    def set_keymap(self, keymap: dict[str, str]) -> None:  # type: ignore[override]
        """Remap keys by binding id; :attr:`keymap` keeps what is in force, for help."""
        super().set_keymap(keymap)
        self.keymap = dict(keymap)

    def on_mount(self) -> None:
        if self.config.keymap:
            self.set_keymap(self.config.keymap)

    def settle_memory(self) -> None:
        """After a document opens: move what is alive now out of the garbage collector's
        sight (``gc.freeze``), so the collections that per-key allocations trigger do not
        walk the open document's tens of thousands of spans and tokens again and again.

        No ``gc.collect`` first (that cost about 120 ms per document switch): the
        annotation objects hold no reference cycles, so those of the previous document are
        freed by reference counting, frozen or not.
        """
        gc.freeze()

    def on_unmount(self) -> None:
        gc.unfreeze()


class AnnotatorApp(ReaderApp):
    """The annotator over one store; the model loads in a worker thread."""

    TITLE = "reader annotate"
    COMMANDS = App.COMMANDS | {AnnotatorCommands}

    def __init__(
        self,
        store: GoldStore,
        *,
        annotator: str = DEFAULT_ANNOTATOR,
        model: str | None = None,
        load_model: bool = True,
        config: AnnotatorConfig | None = None,
        start: str | int | None = None,
        blind: bool = False,
        extractor_loader: Callable[[str | None], Extractor] = load_extractor,
        queue: Queue | None = None,
    ) -> None:
        config = config or AnnotatorConfig()
        # A queue (reader annotate --order) orders the documents, says why each is next
        # and records how each accepted one was chosen; the rest follow in store order.
        doc_ids = None
        if queue is not None:
            queued = set(queue.doc_ids)
            doc_ids = [*queue.doc_ids, *(d for d in store.document_ids() if d not in queued)]
        session = EditingSession(store, annotator=annotator,
                                 scheme=config.apply_labels(store.labels), blind=blind,
                                 bulk_confirm=config.bulk_confirm, doc_ids=doc_ids,
                                 chosen=queue.selections() if queue else None,
                                 reasons=queue.reasons() if queue else None)
        super().__init__(store, session, config)
        self.annotator = annotator
        self.model = model
        self.extractor: Extractor | None = None
        self.extractor_loader = extractor_loader
        self.load_model = load_model and not blind
        self.start_index = session.resume_index(start)

    def get_default_screen(self) -> Screen[Any]:
        return AnnotateScreen(self)

    @property
    def annotate_screen(self) -> AnnotateScreen:
        screen = self.screen_stack[0]
        assert isinstance(screen, AnnotateScreen)
        return screen

    def on_mount(self) -> None:
        super().on_mount()
        if self.load_model:
            self._load_model()

    def _post(self, message: Message) -> bool:
        """Post to the annotate screen from the worker; False once the app has gone."""
        try:
            self.call_from_thread(self.annotate_screen.post_message, message)
        except RuntimeError:
            return False
        return True

    @work(thread=True, exclusive=True, group="model")
    def _load_model(self) -> None:
        worker = get_current_worker()
        self._post(ModelStatus(f"loading model {self.model or '(default spaCy)'}…"))
        try:
            extractor = self.extractor_loader(self.model)
        except AnnotationsError as err:
            self._post(ModelStatus(f"model not loaded: {err}"))
            return
        if worker.is_cancelled or not self._post(ModelReady(extractor)):
            return
        todo = self.session.documents_to_predict(extractor.id)
        done = 0
        for first in range(0, len(todo), PREDICT_BATCH):
            if worker.is_cancelled:
                return
            batch = todo[first:first + PREDICT_BATCH]
            self._post(ModelStatus(f"{extractor.id}: predicting {done}/{len(todo)}…"))
            try:
                predictions: list[Prediction] = list(
                    extractor.predict((d, self.session.document_text(d)) for d in batch)
                )
                self.session.put_predictions(predictions)
            except AnnotationsError as err:  # e.g. the store closed as the app quit
                self._post(ModelStatus(f"prediction stopped: {err}"))
                return
            done += len(batch)
            self._post(DocumentsPredicted([p.doc_id for p in predictions]))
        self._post(ModelStatus(f"{extractor.id} ready"))


class ReviewApp(ReaderApp):
    """One extractor against the gold, disagreement by disagreement; no model."""

    TITLE = "reader review"

    def __init__(self, store: GoldStore, extractor: str, *, annotator: str | None = None,
                 config: AnnotatorConfig | None = None) -> None:
        # Raises EvaluationError before any screen exists, so the CLI can report it.
        documents = review_documents(store, extractor, annotator)
        annotators = {d.annotator for d in documents}
        config = config or AnnotatorConfig()
        session = EditingSession(store, annotator=annotators.pop() if annotators else
                                 DEFAULT_ANNOTATOR, scheme=config.apply_labels(store.labels),
                                 doc_ids=[d.doc_id for d in documents])
        super().__init__(store, session, config)
        self.documents = documents
        self.extractor_id = extractor

    def get_default_screen(self) -> Screen[Any]:
        return ReviewScreen(self)

    @property
    def review_screen(self) -> ReviewScreen:
        screen = self.screen_stack[0]
        assert isinstance(screen, ReviewScreen)
        return screen


class AdjudicateApp(ReaderApp):
    """Several annotators' versions settled into the adjudicated annotation; no model."""

    TITLE = "reader adjudicate"

    def __init__(self, store: GoldStore, session: Adjudication, *,
                 config: AnnotatorConfig | None = None) -> None:
        super().__init__(store, session, config)
        self.session: Adjudication = session

    def get_default_screen(self) -> Screen[Any]:
        return AdjudicateScreen(self)


def make_app(store: GoldStore, **options: Any) -> AnnotatorApp:
    """The annotator over ``store`` (see :class:`AnnotatorApp` for the options)."""
    return AnnotatorApp(store, **options)
