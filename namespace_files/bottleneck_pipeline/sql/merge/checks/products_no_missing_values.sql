-- merge/checks/products_no_missing_values: merged products missing a key, a price or a quantity
--        (offending rows; empty = pass).
-- gate: merge.products.no_missing_values (error)
-- why: the merge called alone (a Kestra subflow reused by another team) receives tables that did
--      not necessarily pass the clean gate; a product without price or quantity has no CA.
-- grain: one row per merged product with a null product_id, sku, price_eur or quantity_sold.
-- input: products (the merge's output)
with merged as (
    select product_id, sku, price_eur, quantity_sold from products
),

incomplete as (
    select product_id, sku
    from merged
    where product_id is null or sku is null or price_eur is null or quantity_sold is null
)

select * from incomplete
