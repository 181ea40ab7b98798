from rest_framework.routers import DefaultRouter

from apps.workflows.views import WorkflowExecutionViewSet, WorkflowViewSet

router = DefaultRouter()
router.register("workflows", WorkflowViewSet, basename="workflow")
router.register("workflow-executions", WorkflowExecutionViewSet, basename="workflow-execution")

urlpatterns = router.urls
