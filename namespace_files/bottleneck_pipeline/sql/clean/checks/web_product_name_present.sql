-- clean/checks/web_product_name_present: web products without a title (offending rows; empty =
--        pass).
-- gate: clean.web.product_name_present (warn)
-- why: the report and the extracts name each wine by its web title (post_title); a product
--      without one is listed without a name, its revenue still counted.
-- grain: one row per kept web product row with no product_name.
-- input: web (the cleaned web rows: sku, product_name, source_row = Excel row)
with products as (
    select source_row, sku, product_name from web
),

unnamed as (
    select source_row as ligne, sku
    from products
    where product_name is null
)

select * from unnamed
