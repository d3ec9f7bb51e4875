{# Generic tests of the package (no dependency on dbt_utils). #}

{# No two rows share the values of `columns` (a model's grain). #}
{% test learnsync_unique_combination(model, columns, column_name=none) %}
select {{ columns | join(', ') }}, count(*) as rows_per_value
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}


{# Every row satisfies `expression` (a vendor's documented rule, or a mart's invariant). #}
{% test learnsync_expression_is_true(model, expression, column_name=none) %}
select *
from {{ model }}
where not ({{ expression }})
{% endtest %}
