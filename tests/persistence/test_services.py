"""Catalog use cases on a real database: versions, publication, immutability, atomicity, round trips."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from catalog.files import CatalogInvalid, content_hash, load_catalog_file
from catalog.models import CatalogProduct, CatalogRecord, CatalogVersion, VersionStatus
from catalog.services import (
    CatalogCodeMismatch,
    CatalogNotFound,
    InvalidValidity,
    VersionImmutable,
    VersionNotFound,
    VersionNotPublished,
    archive_version,
    create_draft,
    discard_draft,
    export_catalog,
    import_catalog,
    list_catalogs,
    list_versions,
    load_version,
    publish_version,
    update_draft,
)
from catalog.snapshot import Attribute, AttributeKind, Catalog, Label, Part, Product

DATA = Path(__file__).resolve().parent / "data"
REPO = Path(__file__).resolve().parents[2]


def make_catalog(code: str = "chairs", *, price: str = "120.00", products: int = 1) -> Catalog:
    """A small valid catalog built from snapshot constructors."""
    return Catalog(
        code=code,
        name=Label("Chairs", "椅子"),
        currency="EUR",
        parts=(Part("SEAT", Label("Seat", "座椅"), cost=Decimal("12.50")),),
        modules=(),
        products=tuple(
            Product(
                code=f"chair-{i}",
                name=Label(f"Chair {i}", f"椅子 {i}"),
                base_price=Decimal(price),
                attributes=(
                    Attribute("armrest", AttributeKind.BOOL, Label("Armrest", "扶手"), default=False),
                ),
            )
            for i in range(products)
        ),
    )


def row_counts(session: Session) -> tuple[int, int, int]:
    return tuple(  # type: ignore[return-value]
        session.scalar(select(func.count()).select_from(model))
        for model in (CatalogRecord, CatalogVersion, CatalogProduct)
    )


# ---------------------------------------------------------------- import and versions


def test_first_import_creates_catalog_and_draft_version_1(session: Session) -> None:
    info = import_catalog(session, make_catalog(products=2), source="chairs.yaml")
    assert (info.catalog_code, info.number, info.status) == ("chairs", 1, VersionStatus.DRAFT)
    assert info.content_hash == content_hash(make_catalog(products=2))
    assert info.source == "chairs.yaml"
    assert info.published_at is None and info.valid_from is None
    assert [(p.code, p.base_price, p.currency) for p in info.products] == [
        ("chair-0", Decimal("120.00"), "EUR"),
        ("chair-1", Decimal("120.00"), "EUR"),
    ]
    assert info.products[1].name == Label("Chair 1", "椅子 1")


def test_import_commits_its_own_transaction(session: Session, session_factory: sessionmaker[Session]) -> None:
    import_catalog(session, make_catalog())
    with session_factory() as other:
        assert [c.code for c in list_catalogs(other)] == ["chairs"]


def test_importing_again_replaces_the_draft_instead_of_adding_a_version(session: Session) -> None:
    import_catalog(session, make_catalog(price="100.00", products=3))
    info = import_catalog(session, make_catalog(price="150.00", products=1), source="second.yaml")
    assert info.number == 1
    assert [v.number for v in list_versions(session, "chairs")] == [1]
    assert [(p.code, p.base_price) for p in info.products] == [("chair-0", Decimal("150.00"))]
    assert row_counts(session) == (1, 1, 1)
    _, stored = load_version(session, "chairs", 1, published_only=False)
    assert stored == make_catalog(price="150.00", products=1)


def test_import_after_publication_opens_the_next_version(session: Session) -> None:
    import_catalog(session, make_catalog(price="100.00"), publish=True)
    info = import_catalog(session, make_catalog(price="110.00"))
    assert (info.number, info.status) == (2, VersionStatus.DRAFT)
    assert [(v.number, v.status) for v in list_versions(session, "chairs")] == [
        (1, VersionStatus.PUBLISHED),
        (2, VersionStatus.DRAFT),
    ]


def test_import_with_publish_publishes_now(session: Session) -> None:
    before = datetime.now(UTC)
    info = import_catalog(session, make_catalog(), publish=True)
    assert info.status is VersionStatus.PUBLISHED
    assert info.published_at is not None and info.valid_from is not None
    assert before - timedelta(seconds=1) <= info.published_at <= datetime.now(UTC)
    assert info.valid_from == info.published_at and info.valid_to is None


def test_import_updates_the_catalog_name(session: Session) -> None:
    import_catalog(session, make_catalog())
    renamed = dataclasses.replace(make_catalog(), name=Label("Seating", "座椅"))
    import_catalog(session, renamed)
    assert list_catalogs(session)[0].name == Label("Seating", "座椅")


def test_import_of_an_invalid_catalog_is_refused_and_stores_nothing(session: Session) -> None:
    bad = dataclasses.replace(make_catalog(), currency="euro")
    with pytest.raises(CatalogInvalid):
        import_catalog(session, bad)
    assert row_counts(session) == (0, 0, 0)


# ---------------------------------------------------------------- atomicity


@pytest.fixture
def failing_product_insert() -> Iterator[None]:
    """Make the database write of the second product row fail, after the catalog and version rows."""
    inserted: list[str] = []

    def fail(_mapper: Any, _connection: Any, target: CatalogProduct) -> None:
        inserted.append(target.code)
        if len(inserted) == 2:
            raise RuntimeError("disk full (injected)")

    event.listen(CatalogProduct, "before_insert", fail)
    try:
        yield
    finally:
        event.remove(CatalogProduct, "before_insert", fail)


@pytest.mark.usefixtures("failing_product_insert")
def test_failed_import_leaves_no_rows(session: Session) -> None:
    with pytest.raises(RuntimeError, match="injected"):
        import_catalog(session, make_catalog(products=3), publish=True)
    session.rollback()
    assert row_counts(session) == (0, 0, 0)


def test_failed_import_of_a_new_version_keeps_the_previous_state(session: Session) -> None:
    import_catalog(session, make_catalog(price="100.00", products=2), publish=True)
    import_catalog(session, make_catalog(price="105.00", products=2))
    before = [(v.number, v.status, v.content_hash) for v in list_versions(session, "chairs")]
    inserted: list[str] = []

    def fail(_mapper: Any, _connection: Any, target: CatalogProduct) -> None:
        inserted.append(target.code)
        if len(inserted) == 2:
            raise RuntimeError("injected")

    event.listen(CatalogProduct, "before_insert", fail)
    try:
        with pytest.raises(RuntimeError):
            import_catalog(session, make_catalog(price="999.00", products=3))
    finally:
        event.remove(CatalogProduct, "before_insert", fail)
    session.rollback()
    assert [(v.number, v.status, v.content_hash) for v in list_versions(session, "chairs")] == before
    assert [p.base_price for p in list_versions(session, "chairs")[1].products] == [Decimal("105.00")] * 2


def test_failed_import_inside_a_caller_transaction_undoes_only_itself(session: Session) -> None:
    session.add(CatalogRecord(code="tables", name_en="Tables", name_zh="", created_at=datetime.now(UTC)))
    session.flush()
    duplicate = dataclasses.replace(make_catalog(), currency="euro")
    with pytest.raises(CatalogInvalid):
        import_catalog(session, duplicate)
    import_catalog(session, make_catalog("stools"))  # joins the caller's transaction via a savepoint
    session.commit()
    assert [c.code for c in list_catalogs(session)] == ["stools", "tables"]


# ---------------------------------------------------------------- publication and immutability


def test_publish_sets_dates_and_makes_the_version_loadable(session: Session) -> None:
    import_catalog(session, make_catalog())
    with pytest.raises(VersionNotFound):
        load_version(session, "chairs")
    info = publish_version(session, "chairs", 1)
    assert info.status is VersionStatus.PUBLISHED and info.published_at is not None
    loaded, catalog = load_version(session, "chairs")
    assert loaded == info
    assert catalog == make_catalog()


@pytest.mark.parametrize("status", ["published", "archived"])
def test_publishing_a_published_or_archived_version_is_refused(session: Session, status: str) -> None:
    import_catalog(session, make_catalog(), publish=True)
    if status == "archived":
        archive_version(session, "chairs", 1)
    with pytest.raises(VersionImmutable) as caught:
        publish_version(session, "chairs", 1)
    assert caught.value.reason == "version_immutable"


def test_update_draft_never_touches_a_published_version(session: Session) -> None:
    import_catalog(session, make_catalog(price="100.00"), publish=True)
    with pytest.raises(VersionNotFound, match="has no draft"):
        update_draft(session, "chairs", make_catalog(price="1.00"))
    _, catalog = load_version(session, "chairs", 1)
    assert catalog.products[0].base_price == Decimal("100.00")


def test_orm_changes_to_a_published_version_are_refused_by_the_database(session: Session) -> None:
    from sqlalchemy.exc import IntegrityError

    import_catalog(session, make_catalog(), publish=True)
    version = session.scalars(select(CatalogVersion)).one()
    version.document = "{}"
    with pytest.raises(IntegrityError, match="version_immutable"):
        session.flush()
    session.rollback()
    session.delete(session.scalars(select(CatalogVersion)).one())
    with pytest.raises(IntegrityError, match="version_immutable"):
        session.flush()


def test_publish_refuses_a_document_that_no_longer_matches_its_hash(
    session: Session, session_factory: sessionmaker[Session]
) -> None:
    from catalog.services import ContentHashMismatch

    import_catalog(session, make_catalog())
    with session_factory.begin() as other:  # drafts are editable at the SQL level; tamper with one
        other.execute(text("UPDATE catalog_versions SET document = replace(document, '120.00', '1.00')"))
    with pytest.raises(ContentHashMismatch) as caught:
        publish_version(session, "chairs", 1)
    assert caught.value.reason == "content_hash_mismatch"
    assert list_versions(session, "chairs")[0].status is VersionStatus.DRAFT


def test_archive_withdraws_from_sale_but_keeps_the_version_readable(session: Session) -> None:
    import_catalog(session, make_catalog(price="100.00"), publish=True)
    info = archive_version(session, "chairs", 1)
    assert info.status is VersionStatus.ARCHIVED
    with pytest.raises(VersionNotFound):
        load_version(session, "chairs")
    loaded, catalog = load_version(session, "chairs", 1)
    assert loaded.status is VersionStatus.ARCHIVED and catalog == make_catalog(price="100.00")


def test_archiving_twice_or_archiving_a_draft_is_refused(session: Session) -> None:
    import_catalog(session, make_catalog(), publish=True)
    archive_version(session, "chairs", 1)
    with pytest.raises(VersionImmutable):
        archive_version(session, "chairs", 1)
    import_catalog(session, make_catalog())
    with pytest.raises(VersionNotPublished) as caught:
        archive_version(session, "chairs", 2)
    assert caught.value.reason == "version_not_published"


def test_validity_must_end_after_it_starts(session: Session) -> None:
    import_catalog(session, make_catalog())
    start = datetime(2030, 1, 1, tzinfo=UTC)
    with pytest.raises(InvalidValidity):
        publish_version(session, "chairs", 1, valid_from=start, valid_to=start)
    assert list_versions(session, "chairs")[0].status is VersionStatus.DRAFT


# ---------------------------------------------------------------- which version is in force


def test_version_in_force_follows_validity_windows(session: Session) -> None:
    now = datetime.now(UTC)
    import_catalog(session, make_catalog(price="100.00"), publish=True, valid_from=now - timedelta(days=10))
    import_catalog(session, make_catalog(price="200.00"), publish=True, valid_from=now + timedelta(days=10))
    import_catalog(
        session,
        make_catalog(price="150.00"),
        publish=True,
        valid_from=now - timedelta(days=5),
        valid_to=now - timedelta(days=1),
    )
    assert load_version(session, "chairs")[0].number == 1  # 3 has expired, 2 is scheduled
    assert load_version(session, "chairs", at=now - timedelta(days=3))[0].number == 3
    assert load_version(session, "chairs", at=now + timedelta(days=11))[0].number == 2
    with pytest.raises(VersionNotFound):
        load_version(session, "chairs", at=now - timedelta(days=11))
    assert list_catalogs(session)[0].current_number == 1


def test_draft_is_hidden_unless_asked_for(session: Session) -> None:
    import_catalog(session, make_catalog(price="100.00"), publish=True)
    import_catalog(session, make_catalog(price="300.00"))
    assert load_version(session, "chairs")[0].number == 1
    with pytest.raises(VersionNotFound, match="not published"):
        load_version(session, "chairs", 2)
    info, catalog = load_version(session, "chairs", published_only=False)
    assert info.number == 2 and catalog.products[0].base_price == Decimal("300.00")


# ---------------------------------------------------------------- drafts


def test_create_draft_copies_the_version_in_force(session: Session) -> None:
    import_catalog(session, make_catalog(price="100.00"), publish=True)
    draft = create_draft(session, "chairs")
    assert (draft.number, draft.status, draft.comment) == (2, VersionStatus.DRAFT, "copy of version 1")
    assert draft.content_hash == list_versions(session, "chairs")[0].content_hash
    assert create_draft(session, "chairs") == draft  # an open draft is returned as is


def test_update_draft_replaces_content_and_checks_the_code(session: Session) -> None:
    import_catalog(session, make_catalog(price="100.00"))
    info = update_draft(session, "chairs", make_catalog(price="80.00", products=2), comment="cheaper")
    assert [p.base_price for p in info.products] == [Decimal("80.00")] * 2
    assert info.comment == "cheaper"
    with pytest.raises(CatalogCodeMismatch):
        update_draft(session, "chairs", make_catalog("stools"))


def test_discard_draft_removes_it_and_its_products(session: Session) -> None:
    import_catalog(session, make_catalog(products=2), publish=True)
    import_catalog(session, make_catalog(products=3))
    discard_draft(session, "chairs")
    assert [v.number for v in list_versions(session, "chairs")] == [1]
    assert row_counts(session) == (1, 1, 2)
    with pytest.raises(VersionNotFound):
        discard_draft(session, "chairs")


# ---------------------------------------------------------------- listing and errors


def test_list_catalogs_reports_versions(session: Session) -> None:
    import_catalog(session, make_catalog("stools"))
    import_catalog(session, make_catalog("chairs"), publish=True)
    import_catalog(session, make_catalog("chairs", price="99.00"))
    listed = {c.code: c for c in list_catalogs(session)}
    assert list(listed) == ["chairs", "stools"]
    chairs, stools = listed["chairs"], listed["stools"]
    assert (chairs.version_count, chairs.current_number, chairs.latest_number, chairs.draft_number) == (
        2,
        1,
        2,
        2,
    )
    assert (stools.version_count, stools.current_number, stools.latest_number, stools.draft_number) == (
        1,
        None,
        1,
        1,
    )


@pytest.mark.parametrize(
    "call",
    [
        lambda s: list_versions(s, "nope"),
        lambda s: load_version(s, "nope"),
        lambda s: export_catalog(s, "nope"),
        lambda s: publish_version(s, "nope", 1),
        lambda s: archive_version(s, "nope", 1),
        lambda s: update_draft(s, "nope", make_catalog("nope")),
        lambda s: create_draft(s, "nope"),
    ],
    ids=["list_versions", "load_version", "export", "publish", "archive", "update_draft", "create_draft"],
)
def test_unknown_catalog_is_reported(session: Session, call: Any) -> None:
    with pytest.raises(CatalogNotFound) as caught:
        call(session)
    assert caught.value.reason == "catalog_not_found"


def test_unknown_version_is_reported(session: Session) -> None:
    import_catalog(session, make_catalog())
    with pytest.raises(VersionNotFound) as caught:
        export_catalog(session, "chairs", 9)
    assert caught.value.reason == "version_not_found" and caught.value.number == 9


# ---------------------------------------------------------------- round trips


@pytest.mark.parametrize(
    "path", [DATA / "bikes.yaml", REPO / "catalog" / "demo" / "city-bikes.yaml"], ids=["bikes", "demo"]
)
def test_import_then_export_gives_back_the_same_catalog(session: Session, path: Path) -> None:
    if not path.exists():
        pytest.skip(f"{path.name} not present")
    original = load_catalog_file(path)
    info = import_catalog(session, original, source=path.name, publish=True)
    exported = export_catalog(session, original.code)
    assert exported == original
    assert content_hash(exported) == info.content_hash
    assert export_catalog(session, original.code, info.number) == original
