-- clean/web: every row of the web export, tagged with why it is removed (null = kept).
-- grain: one row per ingested row; the kept rows should hold one row per sku (checked by the
--        clean gate).
-- input: ingest_web (sku text, quantity_sold, post_type, product_name, source_row)
-- rules, first match wins: empty row; not a product row (each product also appears as an image
--        'attachment' whose sales figure can differ: only post_type = 'product' is the real
--        product, so file order never decides which row survives); no sku (cannot be linked);
--        no sales figure; exact copy of an earlier row.
with ingested as (  -- keys compared one way everywhere (storage.normalise_key); post_type too,
    -- case-folded ('Product ', 'PRODUCT' are product rows)
    select * replace (normalise_key(sku) as sku, lower(normalise_key(post_type)) as post_type)
    from ingest_web
),

numbered as (
    select
        *,
        row_number() over (
            partition by sku, quantity_sold, post_type, product_name
            order by source_row
        ) as copy_number
    from ingested
),

tagged as (
    select
        * exclude (copy_number),
        case
            when sku is null and quantity_sold is null and post_type is null
                and product_name is null then 'empty_row'
            when post_type is distinct from 'product' then 'not_a_product'
            when sku is null then 'missing_sku'
            when quantity_sold is null then 'missing_quantity'
            when copy_number > 1 then 'exact_duplicate'
        end as removal_reason
    from numbered
)

select * from tagged
