-- merge/checks/orphans_web_products_without_price: web products that found no ERP price, best
--        sellers first (offending rows; empty = pass).
-- gates: merge.orphans.web_products_without_price (error, over --max-orphan-share of the web
--        products), merge.orphans.web_products_unlinked (warn, at or under it): one list of
--        products, graded by their share
-- why: their sales are missing from the CA; a few unlinked products are a link table to
--      complete, a large share is a link table or an ERP export of another month.
-- grain: one row per cleaned web product whose sku is not among the merged products.
-- inputs: clean_web (the web products), products (the merge's output)
with web_products as (
    select sku, product_name, quantity_sold from clean_web
),

unmatched as (
    select sku, product_name, quantity_sold
    from web_products
    where sku not in (select sku from products)
)

select * from unmatched order by quantity_sold desc, sku
