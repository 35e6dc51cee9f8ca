-- clean/checks/erp_no_negative_price: ERP products priced below zero (offending rows; empty =
--        pass).
-- gate: clean.erp.no_negative_price (warn)
-- why: a negative price is a typing error in the ERP. It costs revenue only once the product
--      sells, which the merge gate stops (merge.products.no_negative_price); here it is flagged
--      early so the ERP can be corrected before it does.
-- grain: one row per cleaned ERP row with price_eur < 0.
-- input: erp (the cleaned ERP rows: product_id, price_eur, source_row = Excel row)
with priced_products as (
    select source_row, product_id, price_eur from erp
),

negative_prices as (
    select source_row as ligne, product_id, price_eur
    from priced_products
    where price_eur < 0
)

select * from negative_prices
