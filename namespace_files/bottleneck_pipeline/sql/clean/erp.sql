-- clean/erp: every ERP row, tagged with why it is removed (null removal_reason = kept).
-- grain: one row per ingested row; the kept rows should hold one row per product_id (the clean
--        gate checks it: a product with two different prices is an error, never resolved here).
-- input: ingest_erp (product_id text, onsale_web, price_eur decimal, stock_quantity,
--        stock_status, source_row = Excel row)
-- rules, first match wins: empty row; no price (the revenue needs one); exact copy of an
--        earlier row (same values in every column: which copy survives cannot matter).
with ingested as (  -- keys compared one way everywhere (storage.normalise_key)
    select * replace (normalise_key(product_id) as product_id) from ingest_erp
),

numbered as (
    select
        *,
        row_number() over (
            partition by product_id, onsale_web, price_eur, stock_quantity, stock_status
            order by source_row
        ) as copy_number
    from ingested
),

tagged as (
    select
        * exclude (copy_number),
        case
            when product_id is null and price_eur is null and onsale_web is null
                and stock_quantity is null and stock_status is null then 'empty_row'
            when price_eur is null then 'missing_price'
            when copy_number > 1 then 'exact_duplicate'
        end as removal_reason
    from numbered
)

select * from tagged
