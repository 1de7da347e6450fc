"""The migrations build exactly the schema the models declare, and go down and up again."""

import migrations


def test_models_and_migrations_agree(engine):
    migrations.check(engine)  # raises if autogenerate would produce a change


def test_downgrade_to_nothing_and_back(engine):
    migrations.downgrade(engine)
    assert migrations.current(engine) is None
    migrations.upgrade(engine)
    assert migrations.current(engine) == migrations.head()
