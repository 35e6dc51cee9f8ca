-- clean/liaison: every row of the link table, tagged with why it is removed (null = kept).
-- grain: one row per ingested row; the kept rows should be one-to-one between product_id and
--        sku (checked by the clean and merge gates: a fan-out would duplicate revenue).
-- input: ingest_liaison (product_id text, sku text, source_row)
-- rules, first match wins: empty row; no sku (the ERP product is not sold on the web);
--        exact copy of an earlier row.
with ingested as (  -- keys compared one way everywhere (storage.normalise_key)
    select * replace (normalise_key(product_id) as product_id, normalise_key(sku) as sku)
    from ingest_liaison
),

numbered as (
    select
        *,
        row_number() over (partition by product_id, sku order by source_row) as copy_number
    from ingested
),

tagged as (
    select
        * exclude (copy_number),
        case
            when product_id is null and sku is null then 'empty_row'
            when sku is null then 'not_on_web'
            when copy_number > 1 then 'exact_duplicate'
        end as removal_reason
    from numbered
)

select * from tagged
