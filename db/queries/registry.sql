-- Catalog queries of the registry loader's table swap (db/swap.py). %(table)s is the live
-- table, %(load)s the rebuilt copy that replaces it; both are passed as text and cast.

-- name: swap_blockers
-- What a swap would not carry over (no rows: the table can be swapped for a rebuilt copy):
-- objects that depend on the table other than its columns' defaults, CHECK / NOT NULL /
-- primary-key / unique constraints, valid btree-style indexes and extended statistics,
-- and table properties the swap does not copy.
SELECT pg_describe_object(d.classid, d.objid, d.objsubid) AS what
FROM pg_depend d
WHERE d.refclassid = 'pg_class'::regclass AND d.refobjid = %(table)s::regclass
  AND d.deptype IN ('n', 'a')
  AND d.classid NOT IN ('pg_attrdef'::regclass, 'pg_statistic_ext'::regclass)
  AND NOT (d.classid = 'pg_class'::regclass AND d.objid = d.refobjid)
  AND NOT (d.classid = 'pg_constraint'::regclass AND EXISTS (
        SELECT 1 FROM pg_constraint c WHERE c.oid = d.objid AND c.conrelid = d.refobjid
          AND c.contype IN ('c', 'n', 'p', 'u') AND NOT c.condeferrable))
  AND NOT (d.classid = 'pg_class'::regclass AND EXISTS (
        SELECT 1 FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
        WHERE i.indexrelid = d.objid AND i.indisvalid AND i.indisready
          AND ic.reltablespace = 0))
UNION ALL
SELECT 'table property: ' || p
FROM pg_class c,
     LATERAL unnest(ARRAY[
        CASE WHEN c.relkind <> 'r' OR c.relispartition THEN 'not a plain table' END,
        CASE WHEN c.relrowsecurity THEN 'row-level security' END,
        CASE WHEN c.relreplident <> 'd' THEN 'replica identity' END,
        CASE WHEN c.reloftype <> 0 THEN 'typed table' END,
        CASE WHEN c.reltablespace <> 0 THEN 'tablespace' END,
        CASE WHEN c.relowner <> (SELECT oid FROM pg_roles WHERE rolname = current_user)
             THEN 'owned by another role' END,
        CASE WHEN EXISTS (SELECT 1 FROM pg_inherits WHERE inhrelid = c.oid OR inhparent = c.oid)
             THEN 'inheritance' END,
        CASE WHEN EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = c.oid AND attacl IS NOT NULL)
             THEN 'column privileges' END,
        CASE WHEN EXISTS (SELECT 1 FROM pg_constraint WHERE confrelid = c.oid)
             THEN 'referenced by a foreign key' END
     ]) AS p
WHERE c.oid = %(table)s::regclass AND p IS NOT NULL

-- name: table_fingerprint
-- Everything the swap must reproduce, by name: columns (type, NOT NULL, default or
-- generation expression, collation, the planner's options n_distinct[_inherited] (a
-- server may stamp options of its own on every new column), statistics target,
-- comment), constraints,
-- indexes (definition, comment), extended statistics, and the table's options,
-- privileges and comment. Equal fingerprints before and after a swap mean the same schema.
SELECT concat_ws(E'\n',
  (SELECT string_agg(format('column %%s %%s notnull=%%s default=%%s generated=%%s coll=%%s opts=%%s stat=%%s comment=%%s',
            a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
            pg_get_expr(ad.adbin, ad.adrelid), a.attgenerated, a.attcollation,
            (SELECT array_agg(o ORDER BY o) FROM unnest(a.attoptions) o
             WHERE split_part(o, '=', 1) IN ('n_distinct', 'n_distinct_inherited')),
            nullif(a.attstattarget::int, -1), col_description(a.attrelid, a.attnum)), E'\n' ORDER BY a.attnum)
   FROM pg_attribute a LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
   WHERE a.attrelid = %(table)s::regclass AND a.attnum > 0 AND NOT a.attisdropped),
  (SELECT string_agg(format('constraint %%s %%s %%s', c.conname, pg_get_constraintdef(c.oid),
            obj_description(c.oid, 'pg_constraint')), E'\n' ORDER BY c.conname)
   FROM pg_constraint c WHERE c.conrelid = %(table)s::regclass),
  (SELECT string_agg(format('index %%s %%s valid=%%s comment=%%s', ic.relname, pg_get_indexdef(i.indexrelid),
            i.indisvalid, obj_description(i.indexrelid, 'pg_class')), E'\n' ORDER BY ic.relname)
   FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid WHERE i.indrelid = %(table)s::regclass),
  (SELECT string_agg(format('statistics %%s %%s', s.stxname, pg_get_statisticsobjdef(s.oid)), E'\n' ORDER BY s.stxname)
   FROM pg_statistic_ext s WHERE s.stxrelid = %(table)s::regclass),
  (SELECT format('table %%s persistence=%%s options=%%s acl=%%s comment=%%s', c.relname, c.relpersistence,
            c.reloptions, (SELECT array_agg(x::text ORDER BY x::text) FROM unnest(c.relacl) x),
            obj_description(c.oid, 'pg_class'))
   FROM pg_class c WHERE c.oid = %(table)s::regclass))

-- name: copy_settings
-- Statements that give the rebuilt copy the live table's comment, storage options,
-- column options (n_distinct[_inherited]) and statistics targets, and privileges (LIKE
-- copies none of them).
SELECT format('COMMENT ON TABLE %%s IS %%L', %(load)s::regclass, obj_description(c.oid, 'pg_class'))
FROM pg_class c WHERE c.oid = %(table)s::regclass AND obj_description(c.oid, 'pg_class') IS NOT NULL
UNION ALL
SELECT format('ALTER TABLE %%s SET (%%s)', %(load)s::regclass, array_to_string(c.reloptions, ', '))
FROM pg_class c WHERE c.oid = %(table)s::regclass AND c.reloptions IS NOT NULL
UNION ALL
SELECT format('ALTER TABLE %%s ALTER COLUMN %%I SET (%%s)', %(load)s::regclass, a.attname,
              string_agg(o, ', '))
FROM pg_attribute a, unnest(a.attoptions) o
WHERE a.attrelid = %(table)s::regclass AND a.attnum > 0 AND NOT a.attisdropped
  AND split_part(o, '=', 1) IN ('n_distinct', 'n_distinct_inherited')
GROUP BY a.attname
UNION ALL
SELECT format('ALTER TABLE %%s ALTER COLUMN %%I SET STATISTICS %%s', %(load)s::regclass, a.attname,
              a.attstattarget)
FROM pg_attribute a
WHERE a.attrelid = %(table)s::regclass AND a.attnum > 0 AND NOT a.attisdropped
  AND a.attstattarget::int >= 0
UNION ALL
SELECT format('GRANT %%s ON %%s TO %%s%%s', x.privilege_type, %(load)s::regclass,
              CASE WHEN x.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(x.grantee)) END,
              CASE WHEN x.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END)
FROM pg_class c, aclexplode(c.relacl) x
WHERE c.oid = %(table)s::regclass AND x.grantee <> c.relowner

-- name: check_constraints
-- The live table's CHECK constraints, to add to the rebuilt copy once its rows are in.
SELECT c.conname, pg_get_constraintdef(c.oid)
FROM pg_constraint c WHERE c.conrelid = %(table)s::regclass AND c.contype = 'c'
ORDER BY c.conname

-- name: index_builds
-- The live table's indexes as CREATE statements for the rebuilt copy under temporary
-- names (rows: temporary name, statement, constraint name and type or NULL, final name,
-- comment, whether it has expression columns, whether it is partial, its key and included
-- column count). pg_get_indexdef starts "CREATE [UNIQUE] INDEX name ON schema.table "; only
-- that prefix is replaced, so method, columns, options and predicate stay as they are.
WITH defs AS (
    SELECT ic.relname AS name, i.indisunique AS uniq, pg_get_indexdef(i.indexrelid) AS def,
           format('CREATE %%sINDEX %%s ON %%s.%%s ', CASE WHEN i.indisunique THEN 'UNIQUE ' ELSE '' END,
                  quote_ident(ic.relname), quote_ident(n.nspname), quote_ident(t.relname)) AS prefix,
           con.conname, con.contype, obj_description(i.indexrelid, 'pg_class') AS comment,
           i.indexprs IS NOT NULL AS expressions, i.indpred IS NOT NULL AS partial,
           i.indnatts::int AS columns,
           row_number() OVER (ORDER BY ic.relname) AS k, ic.relpages
    FROM pg_index i
    JOIN pg_class ic ON ic.oid = i.indexrelid
    JOIN pg_class t ON t.oid = i.indrelid
    JOIN pg_namespace n ON n.oid = t.relnamespace
    LEFT JOIN pg_constraint con ON con.conindid = i.indexrelid AND con.conrelid = i.indrelid
                               AND con.contype IN ('p', 'u', 'x')
    WHERE i.indrelid = %(table)s::regclass
)
SELECT left(%(load)s, 50) || '_i' || k AS tmp,
       CASE WHEN starts_with(def, prefix)
            THEN format('CREATE %%sINDEX %%I ON %%s ', CASE WHEN uniq THEN 'UNIQUE ' ELSE '' END,
                        left(%(load)s, 50) || '_i' || k, %(load)s::regclass)
                 || substr(def, length(prefix) + 1) END AS create_sql,
       conname, contype::text, name, comment, expressions, partial, columns
FROM defs ORDER BY (conname IS NULL), k

-- name: statistics_pairs
-- Extended statistics of the rebuilt copy (LIKE ... INCLUDING STATISTICS names them
-- anew) with the live table's name for the same definition.
SELECT n.stxname AS tmp, o.stxname AS name
FROM pg_statistic_ext n
JOIN pg_statistic_ext o ON o.stxrelid = %(table)s::regclass
     AND pg_get_statisticsobjdef_columns(o.oid) = pg_get_statisticsobjdef_columns(n.oid)
     AND o.stxkind = n.stxkind
WHERE n.stxrelid = %(load)s::regclass

-- name: column_default
-- A column's default expression on the live table (NULL: none).
SELECT pg_get_expr(ad.adbin, ad.adrelid)
FROM pg_attribute a LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
WHERE a.attrelid = %(table)s::regclass AND a.attname = %(column)s

-- name: stale_load_tables
-- Load tables left by loaders that died (their owner's advisory lock is free).
SELECT c.oid::bigint, c.relname FROM pg_class c
WHERE c.relkind = 'r' AND starts_with(c.relname, 'acra_load_') AND c.relnamespace = current_schema()::regnamespace
