from django.core.paginator import Paginator
from django.db.models import QuerySet
from rest_framework.pagination import PageNumberPagination as BasePageNumberPagination


class DeferredJoinPaginator(Paginator):
    """Pages past the first find their rows' ids on the table alone, then join only those.

    With `select_related`, `OFFSET 4950 LIMIT 50` joins 5,000 rows to throw 4,950 away; the
    ids of the page are found by the same ordering and filters without the joins (the
    database walks an index), and the one statement joins the 50 rows it returns.
    """

    # Also the first page: for a list sorted by a joined or unindexed column (the opportunity
    # list's owner, stage, amount), where the database would join every matching row to sort.
    first_page_too = False

    def _get_page(self, object_list, number, paginator):
        # `object_list`: Django's slice of the list for this page.
        if (
            isinstance(object_list, QuerySet)
            and (object_list.query.low_mark or self.first_page_too)
            and object_list.query.select_related
        ):
            object_list = self.object_list.filter(pk__in=object_list.values("pk"))
        return super()._get_page(object_list, number, paginator)


class PageNumberPagination(BasePageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    django_paginator_class = DeferredJoinPaginator
