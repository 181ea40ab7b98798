from rest_framework.routers import DefaultRouter

from apps.commands.views import CommandExecutionViewSet, CommandViewSet

router = DefaultRouter()
router.register("commands", CommandViewSet, basename="command")
router.register("command-executions", CommandExecutionViewSet, basename="command-execution")

urlpatterns = router.urls
