-- clean/checks/web_lost_sales: every web row that sold something (or a product row whose sales
--        are unknown) and will not reach the report, priced when a price can be found, with the
--        column to fix (offending rows; empty = nothing lost).
-- gates: clean.web.lost_sales_within_ceiling (error, over the ceiling or sales unknown),
--        clean.web.lost_sales (warn, under the ceiling): one list of rows, graded by its weight
-- why: rows removed by the cleaning (no sku, no sales figure, another post_type) and products the
--      merge cannot price (no link, no ERP price) are revenue missing from the published CA; the
--      gates weigh them in units and in CA against --max-lost-share (README "Lost sales").
-- grain: one row per lost web row. Images ('attachment') mirror the products and are not
--        counted, except for a sku seen only on images (its product row missing or mistyped:
--        the image's sales stand in, its best-selling row once).
-- inputs: ingest_web, ingest_liaison, ingest_erp (raw rows, to see what the cleaning removed);
--         web, liaison, erp (the cleaned rows, to know what will be reported)
-- rule: a lost row is priced through the raw link table and ERP with keys compared loosely
--       (loose_key: case and leading zeros ignored, so a sku written '0015940' on one side still
--       finds its price), only to weigh the loss: the joins of the merge never do.
with web_rows as materialized (
    select source_row, normalise_key(sku) as sku, quantity_sold, post_type, product_name,
           lower(normalise_key(post_type)) as kind
    from ingest_web
),

reported as (select sku from web where sku in (select sku from liaison join erp using (product_id))),

others as (select * from web_rows where kind is distinct from 'attachment'),

orphan_images as (  -- a sku seen only on images: its product row is missing or mistyped (unless
                    -- it is a product row without sku, same title, already counted)
    select * from web_rows
    where kind = 'attachment'
      and sku not in (select sku from others where sku is not null)
      and coalesce(product_name, '') not in (select product_name from others
                                             where sku is null and product_name is not null)
    qualify row_number() over (partition by sku order by quantity_sold desc nulls last, source_row) = 1
),

lost as (
    select *, loose_key(sku) as loose from (select * from others union all select * from orphan_images)
    where (quantity_sold > 0 or (quantity_sold is null and kind = 'product'))
      and (sku is null or sku not in (select sku from reported))
),

links as (  -- the links of the lost skus, keys compared loosely
    select * from (select sku, loose_key(sku) as loose, product_id, loose_key(product_id) as loose_product_id
                   from (select normalise_key(sku) as sku, normalise_key(product_id) as product_id
                         from ingest_liaison))
    where loose in (select loose from lost)
),

erp_prices as (
    select product_id, loose_key(product_id) as loose_product_id, price_eur
    from (select normalise_key(product_id) as product_id, price_eur from ingest_erp where price_eur is not null)
),

prices as (
    select loose, min(links.sku) as linked_sku, min(links.product_id) as product_id,
           min(erp_prices.product_id) as erp_product_id, max(erp_prices.price_eur) as price_eur
    from links left join erp_prices using (loose_product_id)
    group by all
),

lost_sales as (
    select lost.source_row as ligne, lost.sku, lost.quantity_sold as unites, prices.product_id,
           prices.price_eur as prix, prices.price_eur * lost.quantity_sold as ca, lost.post_type,
           prices.linked_sku, prices.erp_product_id,
           case when lost.kind is distinct from 'product' then 'post_type'
                when lost.sku is null then 'sku'
                when lost.quantity_sold is null then 'total_sales'
                when prices.loose is null then 'id_web'
                when prices.linked_sku <> lost.sku then 'near_sku'
                when prices.erp_product_id <> prices.product_id then 'near_product_id'
                else 'price' end as colonne
    from lost left join prices using (loose)
)

select * from lost_sales
