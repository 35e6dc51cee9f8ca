-- merge/checks/products_no_negative_price: sold products priced below zero (offending rows;
--        empty = pass).
-- gate: merge.products.no_negative_price (error)
-- why: a negative price on a product that reached the report subtracts its sales from the CA.
-- grain: one row per merged product with price_eur < 0.
-- input: products (the merge's output)
with merged as (
    select product_id, sku, price_eur, quantity_sold from products
),

negative_prices as (
    select product_id, sku, price_eur, quantity_sold
    from merged
    where price_eur < 0
)

select * from negative_prices order by product_id
