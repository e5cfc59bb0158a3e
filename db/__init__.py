"""Database: the embedded or configured PostgreSQL, the pool, migrations, SQL and data loading."""
