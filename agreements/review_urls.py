"""Pages of shared goals and joint reviews (included by slahub/web_urls.py)."""

from django.urls import path

from agreements import review_views as views

urlpatterns = [
    path("agreements/<int:pk>/goals/", views.goal_list, name="goal-list"),
    path("agreements/<int:pk>/goals/<int:goal>/", views.goal_detail, name="goal-detail"),
    path(
        "agreements/<int:pk>/goals/<int:goal>/check-ins/",
        views.goal_check_in,
        name="goal-check-in",
    ),
    path("agreements/<int:pk>/reviews/", views.review_list, name="review-list"),
    path("reviews/<int:pk>/", views.review_detail, name="review-detail"),
    path("reviews/<int:pk>/print/", views.review_print, name="review-print"),
    path("reviews/<int:pk>/notes/", views.review_notes, name="review-notes"),
    path("reviews/<int:pk>/action-items/", views.action_item_add, name="action-item-add"),
    path("reviews/<int:pk>/send/", views.review_send, name="review-send"),
    path("action-items/<int:pk>/done/", views.action_item_done, name="action-item-done"),
]
