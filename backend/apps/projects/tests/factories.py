import factory
from django.contrib.auth import get_user_model

from apps.projects.models import Project, UserStory


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password("pass-word-123")


class ProjectFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Project
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Project {n}")
    owner = factory.SubFactory(UserFactory)

    @factory.post_generation
    def members(self, create, extracted, **kwargs):
        if create and extracted:
            self.members.set(extracted)


class UserStoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = UserStory

    project = factory.SubFactory(ProjectFactory)
    title = factory.Sequence(lambda n: f"Story {n}")
    created_by = factory.SelfAttribute("project.owner")
