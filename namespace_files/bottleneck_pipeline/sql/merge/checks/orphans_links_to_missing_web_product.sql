-- merge/checks/orphans_links_to_missing_web_product: links whose sku is not (or no longer) among
--        the web products (offending rows; empty = pass).
-- gate: merge.orphans.links_to_missing_web_product (warn)
-- why: a dangling link is either a product whose web row the cleaning removed (its sales, if
--      any, are weighed by clean.web.lost_sales) or a stale link to clean up.
-- grain: one row per cleaned link whose sku no cleaned web product has.
-- inputs: clean_liaison, clean_web
with links as (
    select product_id, sku from clean_liaison
),

dangling as (
    select product_id, sku
    from links
    where sku not in (select sku from clean_web)
)

select * from dangling order by product_id
