"""Data: offline test images, synthetic phantoms and small bundled datasets."""
from .datasets import animal_mnist, digits, fashion_mnist, image_folder, read_idx
from .images import image, image_files, image_names, read_image_file
from .phantoms import phantoms

__all__ = ["image", "image_names", "image_files", "read_image_file", "phantoms", "fashion_mnist", "animal_mnist", "digits", "image_folder",
           "read_idx"]
