-- merge/checks/products_no_negative_quantity: merged products with negative sales (offending rows;
--        empty = pass).
-- gate: merge.products.no_negative_quantity (error)
-- why: negative units sold would subtract revenue from the CA (total_sales to correct in the
--      web export).
-- grain: one row per merged product with quantity_sold < 0.
-- input: products (the merge's output)
with merged as (
    select product_id, sku, quantity_sold from products
),

negative_sales as (
    select product_id, sku, quantity_sold
    from merged
    where quantity_sold < 0
)

select * from negative_sales order by product_id
