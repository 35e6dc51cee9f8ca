-- report/revenue: revenue (CA) per product, sorted for the manager's report.
-- grain: one row per product_id.
-- input: products (merge output: price_eur decimal(18,2), quantity_sold bigint)
-- rule: revenue_eur = price_eur x quantity_sold, exact in decimal (no float rounding); ties on
--       revenue are ordered by product_id so the report never depends on input row order.
with products as (
    select * from merged_products
),

revenue as (
    select
        product_id,
        sku,
        product_name,
        price_eur,
        quantity_sold,
        cast(price_eur * quantity_sold as decimal(18, 2)) as revenue_eur
    from products
)

select * from revenue order by revenue_eur desc, product_id
