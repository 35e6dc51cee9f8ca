-- clean/checks/web_has_products: what the web export held, per post_type, for the message of a
--        month without any product row left after cleaning.
-- gate: clean.web.has_products (error)
-- why: an export of the images only (or with post_type mistyped) has no sales to report; the
--      gate fails on the empty cleaned table (the generic has-rows shape, in Python) and quotes
--      these counts so that the owner of web.xlsx sees what was exported instead.
-- grain: one row per post_type of the raw export (empty shown as '(vide)'), most rows first.
-- input: ingest_web (the raw web rows, before cleaning)
with raw_rows as (
    select coalesce(post_type, '(vide)') as post_type from ingest_web
),

rows_per_type as (
    select post_type, count(*) as lignes
    from raw_rows
    group by all
)

select * from rows_per_type order by lignes desc
