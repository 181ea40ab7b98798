from rest_framework.routers import DefaultRouter

from apps.projects.views import ProjectViewSet, UserStoryViewSet

router = DefaultRouter()
router.register("projects", ProjectViewSet, basename="project")
router.register("user-stories", UserStoryViewSet, basename="user-story")

urlpatterns = router.urls
