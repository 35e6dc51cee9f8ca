-- clean/checks/web_only_product_rows: kept web rows that are not product rows (offending rows;
--        empty = pass).
-- gate: clean.web.only_product_rows (error)
-- why: every product also appears as an image 'attachment' row whose sales figure can differ;
--      one surviving image row counts a product's sales twice or replaces them.
-- grain: one row per kept web row whose post_type is not 'product' (empty included).
-- input: web (the cleaned web rows: sku, post_type, source_row = Excel row)
with kept_rows as (
    select source_row, sku, post_type from web
),

not_products as (
    select source_row as ligne, sku, post_type
    from kept_rows
    where post_type is distinct from 'product'
)

select * from not_products
