"""The workflows app's resources, registered on the API's one router by core/urls.py."""

from apps.workflows.views import WorkflowExecutionViewSet, WorkflowViewSet

routes = [
    ("workflows", WorkflowViewSet, "workflow"),
    ("workflow-executions", WorkflowExecutionViewSet, "workflow-execution"),
]
