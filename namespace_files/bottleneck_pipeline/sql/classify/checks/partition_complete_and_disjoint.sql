-- classify/checks/partition_complete_and_disjoint: wines missing from both extracts, written in
--        both, or unknown to the report (offending rows; empty = pass).
-- gate: classify.partition.complete_and_disjoint (error)
-- why: premium and ordinary wines must split the report's products exactly: a wine in neither
--      file is missing from both lists, a wine in both is counted twice by whoever sums them.
-- grain: one row per report product not in exactly one extract (fichiers = the number of
--        extracts holding it), and one per extract row whose product the report does not have.
-- inputs: revenue (the report), premium and ordinary (the French extracts, read back)
with extracted as (
    select product_id, 'premium' as fichier from premium
    union all
    select product_id, 'ordinaires' as fichier from ordinary
),

extracts_per_product as (
    select revenue.product_id, count(extracted.product_id) as fichiers
    from revenue
    left join extracted using (product_id)
    group by all
),

misplaced as (
    select product_id, fichiers from extracts_per_product where fichiers <> 1
    union all
    select product_id, 1 as fichiers from extracted where product_id not in (select product_id from revenue)
)

select * from misplaced order by product_id
