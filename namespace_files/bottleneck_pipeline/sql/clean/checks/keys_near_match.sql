-- clean/checks/keys_near_match: link keys that match a key of web.xlsx or erp.xlsx only once
--        case and leading zeros are ignored, with the units the product sold (offending rows;
--        empty = pass).
-- gates: clean.keys.near_match_with_sales (error: the rows with units sold > 0),
--        clean.keys.near_match (warn: the others): one list of pairs, graded by the sales at stake
-- why: keys are joined exactly ('00123' is not '123', 'ABC' is not 'abc'): such a pair is a
--      product whose sales are lost from the CA (an error), or will be once it sells (a warning).
--      The pipeline never guesses which spelling is right.
-- grain: one row per (link row, matching row of the other file); only keys that find no exact
--        match on either side.
-- inputs: liaison, web, erp (the cleaned rows; keys already normalised)
with sku_pairs as (
    select 'sku' as cle, liaison.sku as valeur_liaison, liaison.source_row as ligne_liaison,
           'web.xlsx' as fichier, 'sku' as colonne, web.sku as valeur, web.source_row as ligne,
           web.quantity_sold as unites
    from liaison join web on loose_key(liaison.sku) = loose_key(web.sku)
    where liaison.sku not in (select sku from web where sku is not null)
      and web.sku not in (select sku from liaison where sku is not null)
),

product_id_pairs as (
    select 'product_id' as cle, liaison.product_id as valeur_liaison, liaison.source_row as ligne_liaison,
           'erp.xlsx' as fichier, 'product_id' as colonne, erp.product_id as valeur, erp.source_row as ligne,
           web.quantity_sold as unites
    from liaison join erp on loose_key(liaison.product_id) = loose_key(erp.product_id)
    left join web on web.sku = liaison.sku
    where liaison.product_id not in (select product_id from erp where product_id is not null)
      and erp.product_id not in (select product_id from liaison where product_id is not null)
),

near_matches as (
    select * from sku_pairs
    union all
    select * from product_id_pairs
)

select * from near_matches
