{#
    Small cross-database helpers the models need beyond dbt's own (dbt.date_trunc, dbt.datediff, ...), for
    DuckDB, Postgres and BigQuery.
#}


{# A timestamp with time zone (learnsync's own columns) as the UTC wall clock, like the share's TIMESTAMP_NTZ. #}
{% macro learnsync_utc_timestamp(expression) %}
    {{ return(adapter.dispatch('learnsync_utc_timestamp', 'learnsync')(expression)) }}
{% endmacro %}

{% macro default__learnsync_utc_timestamp(expression) -%}
    ({{ expression }} at time zone 'UTC')
{%- endmacro %}

{% macro duckdb__learnsync_utc_timestamp(expression) -%}
    timezone('UTC', {{ expression }})
{%- endmacro %}

{# BigQuery has one TIMESTAMP type, an instant; learnsync lands every timestamp in it #}
{% macro bigquery__learnsync_utc_timestamp(expression) -%}
    {{ expression }}
{%- endmacro %}


{# The Monday that starts the ISO week of a timestamp, as a date (BigQuery's WEEK starts on Sunday). #}
{% macro learnsync_week_start(expression) %}
    {{ return(adapter.dispatch('learnsync_week_start', 'learnsync')(expression)) }}
{% endmacro %}

{% macro default__learnsync_week_start(expression) -%}
    cast({{ dbt.date_trunc('week', expression) }} as date)
{%- endmacro %}

{% macro bigquery__learnsync_week_start(expression) -%}
    date_trunc(date({{ expression }}), isoweek)
{%- endmacro %}


{# True for a finite float: the vendors' FLOAT scores hold NaN and infinities, which averages must skip. #}
{% macro learnsync_is_finite(expression) %}
    {{ return(adapter.dispatch('learnsync_is_finite', 'learnsync')(expression)) }}
{% endmacro %}

{% macro default__learnsync_is_finite(expression) -%}
    ({{ expression }} not in (cast('NaN' as float), cast('Infinity' as float), cast('-Infinity' as float)))
{%- endmacro %}

{% macro duckdb__learnsync_is_finite(expression) -%}
    isfinite({{ expression }})
{%- endmacro %}

{% macro bigquery__learnsync_is_finite(expression) -%}
    not (is_nan({{ expression }}) or is_inf({{ expression }}))
{%- endmacro %}


{# numerator / denominator as a float; NULL when the denominator is 0 or NULL. #}
{% macro learnsync_ratio(numerator, denominator) -%}
    cast({{ numerator }} as {{ learnsync_type_float() }}) / nullif({{ denominator }}, 0)
{%- endmacro %}


{#
    Day offsets 0 .. max_days - 1 (column day_offset), to build a calendar between two dates of the data;
    max_days bounds the calendar (dbt.generate_series needs a constant).
#}
{% macro learnsync_day_offsets(max_days=7320) -%}
    select cast(generated_number - 1 as {{ dbt.type_int() }}) as day_offset
    from ({{ dbt.generate_series(max_days) }}) as series
{%- endmacro %}


{# A double-precision float: dbt.type_float() is DuckDB's 4-byte FLOAT, which would round the share's doubles. #}
{% macro learnsync_type_float() %}
    {{ return(adapter.dispatch('learnsync_type_float', 'learnsync')()) }}
{% endmacro %}

{% macro default__learnsync_type_float() -%}
    {{ dbt.type_float() }}
{%- endmacro %}

{% macro duckdb__learnsync_type_float() -%}
    double
{%- endmacro %}


-- Counts and sums of integers come out of DuckDB as HUGEINT (128 bits), which BI tools and drivers read badly or
-- not at all; a mart's post-hook turns them into BIGINT there. Nothing on other warehouses (an empty hook is skipped).
{% macro learnsync_bigint_counts() %}
    {{ return(adapter.dispatch('learnsync_bigint_counts', 'learnsync')()) }}
{% endmacro %}

{% macro default__learnsync_bigint_counts() -%}
{%- endmacro %}

{% macro duckdb__learnsync_bigint_counts() -%}
    {%- if execute -%}
        {%- set found = run_query(
            "select column_name from information_schema.columns where table_catalog = '" ~ this.database
            ~ "' and table_schema = '" ~ this.schema ~ "' and table_name = '" ~ this.identifier
            ~ "' and data_type = 'HUGEINT'") -%}
        {%- for column in found.columns[0].values() -%}
            {%- do run_query("alter table " ~ this ~ " alter column " ~ adapter.quote(column) ~ " type bigint") -%}
        {%- endfor -%}
    {%- endif -%}
{%- endmacro %}
