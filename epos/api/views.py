from drf_spectacular.utils import extend_schema
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.viewsets import ReadOnlyModelViewSet

from epos import selectors
from epos.api.serializers import MeSerializer, UserSerializer
from epos.lib.permissions import HasRole


class MeView(APIView):
    """The caller: what an API client (Zapier's auth test) shows as the connected account."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses=MeSerializer)
    def get(self, request):
        return Response(MeSerializer(request.user).data)


class UserViewSet(ReadOnlyModelViewSet):
    """Active users, by name: the owner and account-executive pickers (Zapier's dropdown)."""

    permission_classes = [HasRole]
    serializer_class = UserSerializer
    filter_backends = []

    def get_queryset(self):
        return selectors.active_users()
